-- Runs once, when the postgis container initialises an empty volume, in $POSTGRES_DB.
-- The image already creates postgis there; btree_gist backs the no-overlapping-bookings constraint; pg_trgm the
-- workspace's search (the same list as shared/db.py's EXTENSIONS).
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
