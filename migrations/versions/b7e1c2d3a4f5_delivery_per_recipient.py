"""delivery per recipient, and the queue lifetime's start

Revision ID: b7e1c2d3a4f5
Revises: 606f7d053ba7
Create Date: 2026-11-30 19:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.types  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'b7e1c2d3a4f5'
down_revision: Union[str, Sequence[str], None] = '606f7d053ba7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deliveries', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('refused', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('first_attempt_at', models.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_column('first_attempt_at')
        batch_op.drop_column('refused')
        batch_op.drop_column('deliveries')
