-- Rebuild quote_item with a copying ALTER (ALGORITHM=COPY): on a shop-sized table the copy holds a write lock on
-- the checkout tables for seconds. The replica's tables are small, so the lock is held explicitly for as long.
LOCK TABLES quote WRITE, quote_item WRITE;
DO SLEEP(10);
ALTER TABLE quote_item ENGINE=InnoDB;
UNLOCK TABLES
