package caddyvipps

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "vipps-restore",
		Usage: "--from <backup file> --data-dir <empty directory>",
		Short: "Restores a vipps shop's database from a backup",
		Long: `
Restores a backup made through the admin endpoint
(GET /vipps/shops/<name>/backup) into an empty directory. Run it while no
Caddy uses the directory, then point the shop's data_dir at it (or move it
into place) and start Caddy.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("from", "", "The backup file")
			cmd.Flags().String("data-dir", "", "The empty directory to restore into")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdRestore)
		},
	})
}

func cmdRestore(fl caddycmd.Flags) (int, error) {
	from, dir := fl.String("from"), fl.String("data-dir")
	if from == "" || dir == "" {
		return caddy.ExitCodeFailedStartup, errors.New("--from and --data-dir are required")
	}
	n, err := state.RestoreBadgerBackup(from, dir)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Printf("restored %d orders into %s\n", n, dir)
	return caddy.ExitCodeSuccess, nil
}
