ALTER TABLE quote_item DROP COLUMN name;
