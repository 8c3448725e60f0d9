-- Change notification for the in-process read cache (src/service/read-cache.ts). Every statement that changes a
-- table the cached reads depend on sends one notification on channel proofboard_changed, whatever wrote it: the
-- service, another API process, or a person editing the database directly. Statement-level triggers keep the cost at
-- one notification per write statement; PostgreSQL folds identical notifications within one transaction and delivers
-- them only at commit (a rolled-back change notifies nobody). A new cached read that depends on another table must add
-- that table here, in a new migration (test/service/read-cache.test.ts checks the list against the reads).
CREATE FUNCTION "proofboard_notify_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('proofboard_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "proofboard_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "tasks" FOR EACH STATEMENT EXECUTE FUNCTION "proofboard_notify_changed"();
--> statement-breakpoint
CREATE TRIGGER "proofboard_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "claims" FOR EACH STATEMENT EXECUTE FUNCTION "proofboard_notify_changed"();
--> statement-breakpoint
CREATE TRIGGER "proofboard_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "verdicts" FOR EACH STATEMENT EXECUTE FUNCTION "proofboard_notify_changed"();
