package postgres

import (
	"fmt"
	"testing"
)

// TestMigrationVersionsRefuseDuplicates: two migration files with one
// version, or a file without one, stop the migration.
func TestMigrationVersionsRefuseDuplicates(t *testing.T) {
	got, err := migrationVersions([]string{"migrations/001_init.sql", "migrations/002_links.sql", "migrations/010_x.sql"})
	if err != nil || fmt.Sprint(got) != "[1 2 10]" {
		t.Fatalf("versions %v, %v", got, err)
	}
	if _, err := migrationVersions([]string{"migrations/004_a.sql", "migrations/005_b.sql", "migrations/005_c.sql"}); err == nil {
		t.Fatal("two migrations with version 5 were accepted")
	}
	if _, err := migrationVersions([]string{"migrations/ledger.sql"}); err == nil {
		t.Fatal("a migration without a version was accepted")
	}
}
