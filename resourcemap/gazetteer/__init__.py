"""The gazetteer in the database: loading data/regions/ and importing fuller settlement lists."""
