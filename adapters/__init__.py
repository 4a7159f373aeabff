"""Everything with I/O: settings, database, files, hashing, pub/sub; implements the domain ports."""
