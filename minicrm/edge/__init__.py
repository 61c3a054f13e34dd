"""The HTTP edge: validates every write, produces it to Kafka, serves reads from PostgreSQL."""
