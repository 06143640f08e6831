package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/switchboard/switchboard/config"
	"github.com/switchboard/switchboard/sfdc"
	"github.com/switchboard/switchboard/sfdc/sfdctest"
	"github.com/switchboard/switchboard/twilio/twiliotest"
)

// The simulated world's fixed identities. The Account SID and token are
// shaped like Twilio's (AC + 32 hex; an alphanumeric token), so the same
// validation runs as against a real account.
const (
	simAccountSID  = "AC5b7e1c2d3f4a5b6c7d8e9f0a1b2c3d4e"
	simAuthToken   = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	simNumber      = "+14155550000"
	simChannelName = "Support"
	simQueueName   = "Support_Queue"
)

// simWorld is a simulated org and a simulated Twilio, seeded as an admin
// would leave a real pair after `switchboard setup`: a channel type for the
// account, one active channel owned by a queue, the PushTopics and the
// default External Channels. The demo, the end-to-end tests and the
// benchmarks all start from it.
type simWorld struct {
	Org    *sfdctest.Org
	Twilio *twiliotest.Server

	ChannelTypeID, ChannelID, QueueID string

	dir     string // holds the JWT key file
	keyFile string
}

// simOptions vary the world.
type simOptions struct {
	// StepDelay paces Twilio's status lifecycle (0: instant).
	StepDelay time.Duration
	// MaxLength is the channel type's Max_Message_Length__c (0: the SPEC
	// default 1600).
	MaxLength int
}

func newSimWorld(ctx context.Context, dir string, opts simOptions) (*simWorld, error) {
	w := &simWorld{dir: dir}
	var err error
	if w.Org, err = sfdctest.NewOrg(sfdctest.Options{}); err != nil {
		return nil, err
	}
	if w.Twilio, err = twiliotest.New(twiliotest.Options{
		Accounts: map[string]string{simAccountSID: simAuthToken}, StepDelay: opts.StepDelay,
	}); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.Twilio.AddNumber(simAccountSID, simNumber); err != nil {
		w.Close()
		return nil, err
	}
	w.keyFile = filepath.Join(dir, "simulated-org-jwt.pem")
	if err := os.WriteFile(w.keyFile, w.Org.JWTPrivateKeyPEM(), 0o600); err != nil {
		w.Close()
		return nil, err
	}
	if err := w.seed(ctx, opts); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func (w *simWorld) seed(ctx context.Context, opts simOptions) error {
	// PushTopics and External Channels the way an admin gets them: setup.
	client, err := w.client()
	if err != nil {
		return err
	}
	rep, err := sfdc.Setup(ctx, client, nil)
	if err != nil {
		return fmt.Errorf("setup against the simulated org: %w", err)
	}
	if !rep.Ready() {
		return fmt.Errorf("the simulated org is not ready:\n%s", rep)
	}
	maxLen := opts.MaxLength
	if maxLen <= 0 {
		maxLen = 1600
	}
	seeded, err := w.Org.SeedChannel(sfdctest.SeedChannel{
		AccountSID: simAccountSID, Number: simNumber, Name: simChannelName, QueueName: simQueueName, MaxLength: maxLen,
	})
	w.QueueID, w.ChannelTypeID, w.ChannelID = seeded.QueueID, seeded.ChannelTypeID, seeded.ChannelID
	return err
}

// client is an admin's REST client on the simulated org (JWT bearer).
func (w *simWorld) client() (*sfdc.Client, error) {
	auth, err := sfdc.NewAuth(sfdc.AuthConfig{
		Flow: sfdc.FlowJWT, LoginURL: w.Org.URL(), ClientID: sfdctest.DefaultClientID,
		Username: sfdctest.DefaultUsername, PrivateKeyFile: w.keyFile,
	}, http.DefaultClient, zap.NewNop())
	if err != nil {
		return nil, err
	}
	return sfdc.NewClient(auth, sfdc.ClientConfig{})
}

// environ is the daemon's configuration for this world, as an admin
// would put it in .env.
func (w *simWorld) environ(publicURL, storeURL string) []string {
	return []string{
		"SWITCHBOARD_SALESFORCE_LOGIN_URL=" + w.Org.URL(),
		"SWITCHBOARD_SALESFORCE_AUTH_FLOW=jwt",
		"SWITCHBOARD_SALESFORCE_CLIENT_ID=" + sfdctest.DefaultClientID,
		"SWITCHBOARD_SALESFORCE_USERNAME=" + sfdctest.DefaultUsername,
		"SWITCHBOARD_SALESFORCE_PRIVATE_KEY_FILE=" + w.keyFile,
		"SWITCHBOARD_TWILIO_ACCOUNT_SID=" + simAccountSID,
		"SWITCHBOARD_TWILIO_AUTH_TOKEN=" + simAuthToken,
		"SWITCHBOARD_TWILIO_API_BASE_URL=" + w.Twilio.URL(),
		"SWITCHBOARD_TWILIO_DEFAULT_CHANNEL=" + simChannelName,
		"SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0",
		"SWITCHBOARD_SERVER_ADMIN_LISTEN=127.0.0.1:0",
		"SWITCHBOARD_SERVER_PUBLIC_URL=" + publicURL,
		"SWITCHBOARD_STORE_URL=" + storeURL,
	}
}

// loadSimConfig reads environ the way the CLI does, without looking at files
// or the process environment.
func loadSimConfig(environ []string) (*config.Config, error) {
	cfg, err := config.Load(config.LoadOptions{Environ: environ, ConfigFile: os.DevNull, EnvFile: os.DevNull})
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(config.NeedAll); err != nil {
		return nil, err
	}
	return cfg, nil
}

// listenLoopback binds a loopback listener for the daemon, so its public URL is
// known before it starts.
func listenLoopback() (net.Listener, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	return ln, "http://" + ln.Addr().String(), nil
}

func (w *simWorld) Close() {
	if w.Twilio != nil {
		w.Twilio.Close()
	}
	if w.Org != nil {
		w.Org.Close()
	}
}
