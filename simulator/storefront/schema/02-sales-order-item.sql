-- What each order holds (Magento's sales_order_item): reconciliation compares it with what the customer was told.
CREATE TABLE IF NOT EXISTS sales_order_item (
  item_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  order_id INT UNSIGNED NOT NULL,
  sku VARCHAR(64) NOT NULL,
  qty_ordered DECIMAL(12,4) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  row_total DECIMAL(12,2) NOT NULL,
  KEY order_id (order_id)
) ENGINE=InnoDB;
