ALTER TABLE "circuits" ADD COLUMN "build" jsonb;--> statement-breakpoint
ALTER TABLE "circuits" ADD COLUMN "log_index" bigint;