"""what a partnership file says that the database did not keep: agency aliases, publish-within months

Revision ID: d5a1f3b7c9e2
Revises: d5a1c9e7b3f2
Create Date: 2026-12-01 01:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'd5a1f3b7c9e2'
down_revision: Union[str, Sequence[str], None] = 'd5a1c9e7b3f2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('partnership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish_within_months', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('partnership', schema=None) as batch_op:
        batch_op.drop_column('publish_within_months')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('aliases')
