-- What each order holds (Magento's sales_order_item): reconciliation compares it with what the customer was told.
-- A configurable product's line is two rows, as Magento_Sales's db_schema.xml has them: the parent (product_type
-- configurable, the chosen child's SKU and the quantity) and the child (simple, parent_item_id set, same quantity).
CREATE TABLE IF NOT EXISTS sales_order_item (
  item_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id INT UNSIGNED NOT NULL,
  parent_item_id INT UNSIGNED NULL,
  product_type VARCHAR(255) NULL DEFAULT 'simple',
  sku VARCHAR(64) NOT NULL,
  qty_ordered DECIMAL(12,4) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  row_total DECIMAL(12,2) NOT NULL,
  KEY order_id (order_id)
) ENGINE=InnoDB;
