"""each contribution keeps the day of its next ladder step, for a chase that reads only what is due

Revision ID: d5a1c9e7b3f2
Revises: c4d8e2f1a9b7
Create Date: 2026-12-01 01:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'd5a1c9e7b3f2'
down_revision: Union[str, Sequence[str], None] = 'c4d8e2f1a9b7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema. Existing rows start unknown (NULL): the next chase works each one out."""
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_step_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_contribution_next_step_on'), ['next_step_on'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contribution_next_step_on'))
        batch_op.drop_column('next_step_on')
