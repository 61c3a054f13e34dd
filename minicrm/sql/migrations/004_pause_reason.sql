-- Why a campaign is PAUSED (the vendor's errors, with the numbers), shown in its details.
ALTER TABLE campaigns ADD COLUMN pause_reason text;
