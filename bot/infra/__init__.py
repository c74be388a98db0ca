"""Infrastructure: the database, the store, migrations, logs and metrics, HTTP headers and error pages, backups."""
