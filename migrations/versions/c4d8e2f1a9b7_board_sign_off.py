"""the board's sign-off and the chosen publication day

Revision ID: c4d8e2f1a9b7
Revises: fe22b90b95a8
Create Date: 2026-11-30 23:25:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'c4d8e2f1a9b7'
down_revision: Union[str, Sequence[str], None] = 'fe22b90b95a8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('board_signed_off_by', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('board_signed_off_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('publish_on', sa.Date(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('cycle', schema=None) as batch_op:
        batch_op.drop_column('publish_on')
        batch_op.drop_column('board_signed_off_on')
        batch_op.drop_column('board_signed_off_by')
