CREATE TABLE "hidden_blobs" (
	"sha256" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "pack" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "definition_log_index" bigint;