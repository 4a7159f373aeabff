"""The operations of the API, one file each, in one package per context; schema.root merges their roots."""
