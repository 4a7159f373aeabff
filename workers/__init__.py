"""Background jobs (Dramatiq): broker setup and actors."""
