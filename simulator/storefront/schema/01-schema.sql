-- The storefront's schema (a Magento-shaped subset) and its seed catalog.
CREATE TABLE IF NOT EXISTS catalog_product_entity (
  entity_id INT UNSIGNED NOT NULL PRIMARY KEY,
  sku VARCHAR(64) NOT NULL UNIQUE,
  name VARCHAR(255) NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  qty DECIMAL(12,4) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS customer_entity (
  entity_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(255) NOT NULL UNIQUE,
  firstname VARCHAR(255) NOT NULL,
  lastname VARCHAR(255) NOT NULL,
  password_hash VARCHAR(128) NOT NULL,
  created_at DATETIME NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS oauth_token (
  token CHAR(32) NOT NULL PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  created_at DATETIME NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS quote (
  entity_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  masked_id CHAR(32) NULL UNIQUE,
  customer_id INT UNSIGNED NULL,
  customer_email VARCHAR(255) NULL,
  is_active TINYINT NOT NULL DEFAULT 1,
  shipping_method VARCHAR(64) NULL,
  shipping_amount DECIMAL(12,2) NOT NULL DEFAULT 0,
  reserved_order_id INT UNSIGNED NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NULL,
  KEY customer_active (customer_id, is_active)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS quote_item (
  item_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  quote_id INT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  sku VARCHAR(64) NOT NULL,
  name VARCHAR(255) NULL,
  price DECIMAL(12,2) NOT NULL,
  qty DECIMAL(12,4) NOT NULL,
  KEY quote (quote_id)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS sales_order (
  entity_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  increment_id VARCHAR(32) NOT NULL,
  quote_id INT UNSIGNED NOT NULL UNIQUE,   -- one order per cart: a retried place-order cannot double it
  customer_id INT UNSIGNED NULL,
  customer_email VARCHAR(255) NOT NULL,
  grand_total DECIMAL(12,2) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  release_id VARCHAR(64) NOT NULL,
  KEY email (customer_email)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS setup_module (
  module VARCHAR(64) NOT NULL PRIMARY KEY,
  schema_version VARCHAR(32) NOT NULL,
  data_version VARCHAR(32) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS greenlight_migrations (
  name VARCHAR(128) NOT NULL PRIMARY KEY,
  release_id VARCHAR(64) NOT NULL,
  applied_at DATETIME NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO setup_module VALUES ('Greenlight_Catalog', '1.0.0', '1.0.0'), ('Greenlight_Checkout', '1.0.0', '1.0.0');

-- Finite stock, taken by every order (as MSI's reservations take salable quantity): 30 products with plenty, one
-- sold out and one nearly (a real catalogue has both; the load's catalogue lists the first 30 only).
INSERT IGNORE INTO catalog_product_entity (entity_id, sku, name, price, qty)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
SELECT i, CONCAT('GL-', LPAD(i, 4, '0')), CONCAT('Greenlight Tee ', i), 10 + i, 250000 FROM n;
INSERT IGNORE INTO catalog_product_entity (entity_id, sku, name, price, qty) VALUES
  (31, 'GL-0031', 'Greenlight Tee 31 (sold out)', 41, 0),
  (32, 'GL-0032', 'Greenlight Tee 32 (last few)', 42, 3);

-- Framework tables a Magento 2.4 install has: the deployment config hash (ConfigChangeDetector), cron's schedule,
-- the MySQL queue (consumers), revoked JWT customer tokens.
CREATE TABLE IF NOT EXISTS flag (
  flag_code VARCHAR(255) NOT NULL PRIMARY KEY,
  flag_data MEDIUMTEXT NULL,
  last_update DATETIME(6) NOT NULL
) ENGINE=InnoDB;

-- Magento_Cron's cron_schedule as 2.4 declares it (app/code/Magento/Cron/etc/db_schema.xml): nothing in it names the
-- node that ran a job; `messages` holds a failed job's error text.
CREATE TABLE IF NOT EXISTS cron_schedule (
  schedule_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  job_code VARCHAR(255) NOT NULL DEFAULT '0',
  status VARCHAR(7) NOT NULL DEFAULT 'pending',
  messages TEXT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  scheduled_at TIMESTAMP NULL,
  executed_at TIMESTAMP NULL,
  finished_at TIMESTAMP NULL,
  KEY CRON_SCHEDULE_JOB_CODE_STATUS_SCHEDULED_AT (job_code, status, scheduled_at),
  KEY CRON_SCHEDULE_SCHEDULED_AT_STATUS (scheduled_at, status)
) ENGINE=InnoDB;

-- Magento_MysqlMq's queue tables (app/code/Magento/MysqlMq/etc/db_schema.xml): a message, and its status per queue
-- (2 new, 3 in progress, 4 complete, 5 retry required, 6 error, 7 to be deleted: MysqlMq\Model\QueueManagement).
CREATE TABLE IF NOT EXISTS queue (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NULL,
  UNIQUE KEY QUEUE_NAME (name)
) ENGINE=InnoDB;
INSERT IGNORE INTO queue (name) VALUES ('greenlight.order.export');

CREATE TABLE IF NOT EXISTS queue_message (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  topic_name VARCHAR(255) NULL,
  body LONGTEXT NULL
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS queue_message_status (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  queue_id INT UNSIGNED NOT NULL,
  message_id BIGINT UNSIGNED NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  status SMALLINT UNSIGNED NOT NULL,
  number_of_trials SMALLINT UNSIGNED NOT NULL DEFAULT 0,
  UNIQUE KEY QUEUE_MESSAGE_STATUS_QUEUE_ID_MESSAGE_ID (queue_id, message_id),
  KEY QUEUE_MESSAGE_STATUS_STATUS_UPDATED_AT (status, updated_at)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS jwt_auth_revoked (
  user_type_id INT UNSIGNED NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  revoke_before BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (user_type_id, user_id)
) ENGINE=InnoDB;

-- Store settings an admin saves (Magento's core_config_data, db_schema.xml of Magento_Config): a path absent here
-- takes its config.xml default.
CREATE TABLE IF NOT EXISTS core_config_data (
  config_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  scope VARCHAR(8) NOT NULL DEFAULT 'default',
  scope_id INT NOT NULL DEFAULT 0,
  path VARCHAR(255) NOT NULL DEFAULT 'general',
  value TEXT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UNIQUE KEY core_config_data_scope_scope_id_path (scope, scope_id, path)
) ENGINE=InnoDB;

-- Magento_SalesSequence's order sequence for store 1: increment ids are its values (%09d), not sales_order's
-- entity ids. This store's sequence is ahead of its entity ids, as on a store whose checkouts reserved numbers
-- they never used (Quote::reserveOrderId) or whose orders were imported: the two never agree by accident.
CREATE TABLE IF NOT EXISTS sequence_order_1 (
  sequence_value INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY
) ENGINE=InnoDB AUTO_INCREMENT=1000;
