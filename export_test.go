package caddyvipps

// RestoreBackup lets the tests restore a backup as the vipps-restore
// command does.
var RestoreBackup = restoreBackup
