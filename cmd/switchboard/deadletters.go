package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sync/store"
)

func newDeadLettersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dead-letters",
		Short: "List the jobs that failed for good, and put them back in the queue",
		Long: `A job becomes a dead letter when it can never succeed as it stands (a
webhook whose body cannot be parsed, a status callback whose Task never
appeared within an hour), or after 20 failed attempts spread over about 2.5
hours (a Salesforce validation rule refusing every write). Nothing is
deleted: list them, fix the cause, then replay them. Outages (Salesforce
503, Twilio 429/5xx) never make dead letters; those jobs wait.

  switchboard dead-letters                 list the newest 50
  switchboard dead-letters --kind inbound  only one kind (send, inbound, status, conversation)
  switchboard dead-letters replay 42       put job 42 back in the queue
  switchboard dead-letters replay --all    put every dead letter back (with --kind: of one kind)

The running daemon picks replayed jobs up; this command only needs store.url.`,
		Args: cobra.NoArgs,
	}
	var kind string
	var limit int
	cmd.Flags().StringVar(&kind, "kind", "", "only dead letters of this kind")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, closeStore, err := g.openStore(cmd)
		if err != nil {
			return err
		}
		defer closeStore()
		dls, err := st.DeadLetters(cmd.Context(), kind, limit)
		if err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		if len(dls) == 0 {
			fmt.Fprintln(g.stdout, "no dead letters")
			return nil
		}
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tKEY\tATTEMPTS\tFAILED AT\tLAST ERROR")
		for _, d := range dls {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", d.ID, d.Kind, d.Key, d.Attempts,
				d.FailedAt.UTC().Format(time.RFC3339), oneLine(d.LastError, 120))
		}
		return tw.Flush()
	}

	replay := &cobra.Command{
		Use:   "replay [ID…]",
		Short: "Put dead letters back in the queue, with their attempts reset",
		RunE: func(cmd *cobra.Command, args []string) error {
			all, _ := cmd.Flags().GetBool("all")
			if all == (len(args) > 0) {
				return &exitError{code: exitBadInput, err: errors.New("name dead letter IDs, or --all (not both)")}
			}
			st, closeStore, err := g.openStore(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			if all {
				n, err := st.ReplayAll(cmd.Context(), kind)
				if err != nil {
					return &exitError{code: exitFailure, err: err}
				}
				fmt.Fprintf(g.stdout, "%d dead letters back in the queue\n", n)
				return nil
			}
			failed := 0
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil {
					return &exitError{code: exitBadInput, err: fmt.Errorf("%q is not a dead letter ID", a)}
				}
				switch err := st.Replay(cmd.Context(), id); {
				case err == nil:
					fmt.Fprintf(g.stdout, "%d: back in the queue\n", id)
				case errors.Is(err, store.ErrNotFound):
					failed++
					fmt.Fprintf(g.stdout, "%d: not a dead letter (list them with: switchboard dead-letters)\n", id)
				case errors.Is(err, store.ErrConflict):
					fmt.Fprintf(g.stdout, "%d: a job with the same key is already queued; it does the work\n", id)
				default:
					return &exitError{code: exitFailure, err: err}
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d of %d not replayed", failed, len(args))}
			}
			return nil
		},
	}
	replay.Flags().Bool("all", false, "replay every dead letter (of --kind, if given)")
	replay.Flags().StringVar(&kind, "kind", "", "with --all: only this kind")
	cmd.AddCommand(replay)
	return cmd
}

// openStore opens the configured store for a maintenance command.
func (g *globals) openStore(cmd *cobra.Command) (*store.Store, func(), error) {
	cfg, log, err := g.load(cmd, config.NeedStore)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cmd.Context(), cfg.Store.URL, store.Options{Logger: log.Named("store")})
	if err != nil {
		return nil, nil, &exitError{code: exitFailure, err: err}
	}
	return st, func() { _ = st.Close(cmd.Context()); _ = log.Sync() }, nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
