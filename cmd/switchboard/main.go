// Command switchboard is the sidecar that connects a Salesforce org to
// Twilio. main only parses arguments and handles signals; the commands build
// everything from configuration, so tests drive them in-process.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes: scripts and the admin's runbook branch on them.
const (
	exitOK       = 0
	exitFailure  = 1 // the command ran and found the org or a connection not ready
	exitBadInput = 2 // bad flags or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal starts a graceful drain; restoring the default
		// handlers makes a second one end the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(execute(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// env abstracts the process environment for tests (nil → os.Environ()).
type env []string

// execute runs the CLI and returns the process exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, environ env) int {
	root := newRoot(stdout, stderr, environ)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, ee.err)
		}
		return ee.code
	}
	// cobra's own errors: unknown command or flag.
	fmt.Fprintln(stderr, "Error:", err)
	return exitBadInput
}

// globals are the flags every command shares.
type globals struct {
	configFile string
	envFile    string
	environ    env
	stdout     io.Writer
	stderr     io.Writer
}

func newRoot(stdout, stderr io.Writer, environ env) *cobra.Command {
	g := &globals{environ: environ, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "switchboard",
		Short: "Texting from Salesforce through Twilio, with Salesforce as the system of record",
		Long: `switchboard is a sidecar next to your Salesforce org. It sends the SMS/WhatsApp
messages that Salesforce users, the chat component and Flows create as Tasks,
and writes customers' replies and delivery receipts back into the org.

Settings come from flags, SWITCHBOARD_* environment variables, a .env file and
switchboard.yaml, in that order of precedence. Every setting is also a flag:
--salesforce.client_id=… equals SWITCHBOARD_SALESFORCE_CLIENT_ID=….`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.configFile, "config", "", "YAML settings file (default ./switchboard.yaml if present)")
	pf.StringVar(&g.envFile, "env-file", "", "dotenv file (default ./.env if present)")
	config.RegisterFlags(pf)

	root.AddCommand(newVersionCmd(g), newSetupCmd(g), newRunCmd(g), newDeadLettersCmd(g))
	root.AddCommand(newDemoCmd(g))
	root.AddCommand(newDoctorCmd(g))
	return root
}

// load reads the configuration and validates what the command needs.
func (g *globals) load(cmd *cobra.Command, need config.Need) (*config.Config, *zap.Logger, error) {
	var environ []string
	if g.environ != nil {
		environ = g.environ
	}
	cfg, err := config.Load(config.LoadOptions{
		ConfigFile: g.configFile,
		EnvFile:    g.envFile,
		Flags:      cmd.Flags(),
		Environ:    environ,
	})
	if err != nil {
		return nil, nil, &exitError{code: exitBadInput, err: err}
	}
	if err := cfg.Validate(need); err != nil {
		return nil, nil, &exitError{code: exitBadInput, err: fmt.Errorf("configuration is not usable:\n%w", err)}
	}
	log, err := config.NewLogger(cfg.Log, cfg.Secrets(), g.stderr)
	if err != nil {
		return nil, nil, &exitError{code: exitBadInput, err: err}
	}
	return cfg, log, nil
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(g.stdout, "switchboard", version)
			return nil
		},
	}
}
