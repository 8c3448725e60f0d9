-- Every verifier key belongs to an operator; a quorum counts operators, not keys (issue 15, finding 4).
-- Keys registered before this migration are each their own operator, 'key-<id>', so they count exactly as before.
ALTER TABLE "verifier_keys" ADD COLUMN "operator" text;--> statement-breakpoint
UPDATE "verifier_keys" SET "operator" = 'key-' || "id" WHERE "operator" IS NULL;--> statement-breakpoint
ALTER TABLE "verifier_keys" ALTER COLUMN "operator" SET NOT NULL;
