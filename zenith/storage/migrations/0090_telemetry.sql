-- Traces of a video after its first one (the first is videos.trace_id): every re-check
-- runs in its own trace, linked to the first; `zenith trace VIDEO_ID` lists them all.
CREATE TABLE video_traces (
    video_id    bigint      NOT NULL REFERENCES videos (id),
    trace_id    text        NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
    kind        text        NOT NULL DEFAULT 'recheck',
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- recording the same trace twice (a retried message) is a no-op
    PRIMARY KEY (video_id, trace_id)
);
CREATE INDEX video_traces_by_time ON video_traces (video_id, recorded_at);
