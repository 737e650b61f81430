-- Runs once, when the postgis container initialises an empty volume, in $POSTGRES_DB.
-- The image already creates postgis there; btree_gist backs the no-overlapping-bookings constraint.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS btree_gist;
