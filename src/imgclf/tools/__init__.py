"""The commands around the pipeline (`imgclf predict`, `imgclf leaderboard`): no stage imports them or depends on
them, so editing a tool reruns nothing."""
