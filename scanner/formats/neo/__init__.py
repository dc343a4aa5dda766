"""Neo Backup (formerly OAndBackupX) app backups: properties JSON and its archives."""
