package postgres

// CommitOutcomeWait lets tests shorten how long a lost commit's outcome is
// asked for.
var CommitOutcomeWait = &commitOutcomeWait
