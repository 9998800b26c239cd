"""The shop database, seen from the harness: a rehearsal copy for migrations, and orders for reconciliation."""
from __future__ import annotations

from dataclasses import dataclass, field

import pymysql

from harness.targets.stored_orders import StoredOrders


class DbError(RuntimeError):
    pass


@dataclass(frozen=True)
class DbAccess:
    host: str
    port: int
    user: str
    name: str
    password: str = field(repr=False, default="")  # never printed

    def connect(self, database: str | None = None):
        try:
            return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                                   database=database or self.name, connect_timeout=5, autocommit=True)
        except pymysql.MySQLError as exc:
            # pymysql errors can echo the user but never the password; keep only code and text.
            raise DbError(f"database {self.user}@{self.host}:{self.port}/{database or self.name}: "
                          f"{exc.args[-1] if exc.args else exc}") from None

    def clone(self, target_db: str) -> int:
        """Copy every table (schema and rows) of the shop database into target_db, replacing what was there.
        Returns the number of tables copied. Used to rehearse migrations before they touch the real schema."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{target_db}`")
                cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema=%s",
                            (target_db,))
                old = [r[0] for r in cur.fetchall()]
                cur.execute("SET FOREIGN_KEY_CHECKS=0")
                # INSERT … SELECT under REPEATABLE READ share-locks every source row: the live shop's writes
                # (orders, queue messages) would queue behind the copy. READ COMMITTED reads a snapshot instead.
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                for t in old:
                    cur.execute(f"DROP TABLE `{target_db}`.`{t}`")
                cur.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema=%s AND table_type='BASE TABLE'", (self.name,))
                tables = [r[0] for r in cur.fetchall()]
                for t in tables:
                    cur.execute(f"CREATE TABLE `{target_db}`.`{t}` LIKE `{self.name}`.`{t}`")
                    cur.execute(f"INSERT INTO `{target_db}`.`{t}` SELECT * FROM `{self.name}`.`{t}`")
                # Each table is its own snapshot: a table copied later can hold rows naming ids (a queue message,
                # an order) that its parent's copy, made earlier, never got. The copy's counters continue from the
                # live shop's as they are now, so a row written in the copy never takes an id such a row names.
                cur.execute("SELECT table_name, auto_increment FROM information_schema.tables "
                            "WHERE table_schema=%s AND auto_increment IS NOT NULL", (self.name,))
                for t, nxt in cur.fetchall():
                    if t in tables:
                        cur.execute(f"ALTER TABLE `{target_db}`.`{t}` AUTO_INCREMENT = {int(nxt)}")
                cur.execute("SET FOREIGN_KEY_CHECKS=1")
            return len(tables)
        finally:
            conn.close()

    def order_ids(self, email_like: str) -> list[int]:
        """Order entity ids whose customer e-mail matches (one run's load users share a prefix)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT entity_id FROM sales_order WHERE customer_email LIKE %s", (email_like,))
                return [int(r[0]) for r in cur.fetchall()]
        finally:
            conn.close()

    def orders(self, email_like: str | None = None, ids: list[int] | None = None) -> StoredOrders:
        """Stored orders with what they hold: {entity_id: {"grand_total", "items": {sku: qty}}}, selected by
        customer e-mail pattern (one run's load users) or by ids (the watch checking orders as they are told); a
        compact mapping (harness/targets/stored_orders.py): a night's orders as dicts would not fit beside its ledger."""
        if ids is not None and not ids:
            return StoredOrders.from_orders([])
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                if ids is not None:
                    where, args = f"o.entity_id IN ({', '.join(['%s'] * len(ids))})", list(ids)
                else:
                    where, args = "o.customer_email LIKE %s", [email_like]
                # One row per line the customer bought: a configurable line's child row (parent_item_id set)
                # repeats its parent's SKU and quantity.
                cur.execute(f"SELECT o.entity_id, o.grand_total, i.sku, i.qty_ordered FROM sales_order o "
                            f"LEFT JOIN sales_order_item i ON i.order_id = o.entity_id AND i.parent_item_id IS NULL "
                            f"WHERE {where}", args)
                return StoredOrders.from_rows(cur.fetchall())
        finally:
            conn.close()
