"""Operations: backups, health checks, the schema, Prefect events."""
