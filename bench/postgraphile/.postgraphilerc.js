// PostGraphile's options for bench/postgraphile.py; the CLI reads this file from its working directory.
// NULLS LAST, as ordergraph sorts: without it PostgreSQL puts orders never submitted first on SUBMITTED_AT_DESC.
module.exports = { options: { graphileBuildOptions: { orderByNullsLast: true } } };
