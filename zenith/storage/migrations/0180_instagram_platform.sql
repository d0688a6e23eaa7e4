-- Instagram Reels are a third platform: accounts and videos may name it.
ALTER TABLE platform_accounts DROP CONSTRAINT platform_accounts_platform_check;
ALTER TABLE platform_accounts ADD CONSTRAINT platform_accounts_platform_check
    CHECK (platform IN ('youtube', 'tiktok', 'instagram'));
ALTER TABLE videos DROP CONSTRAINT videos_platform_check;
ALTER TABLE videos ADD CONSTRAINT videos_platform_check
    CHECK (platform IN ('youtube', 'tiktok', 'instagram'));
