"""The domain: tables, lifecycle rules, calendar and chase ladder. No Prefect, no network.

The package imports nothing itself, so a module that needs no table (`models.status`, read with SQLAlchemy
Core, or the lifecycle rules) costs no ORM: `reportcycle status` answers without it. A table module imports the
modules of the tables its foreign keys name (a flush resolves them); `import models.tables` registers every
table (Alembic, backups, `create_all`).
"""
