package settings

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/widgets"
	"github.com/keydesk/keydesk/internal/msg"
	"github.com/keydesk/keydesk/internal/netaddr"
	"github.com/keydesk/keydesk/server"
)

// errSuperseded means the API was switched off (or on again) while it was
// starting.
var errSuperseded = errors.New("superseded by a later switch")

// apiServer runs the verification API on one address at a time. It owns the
// server's lifecycle; its start and stop block, so the switch calls them off
// the UI goroutine.
type apiServer struct {
	v server.KeyChecker
	// usage returns the counter of the API's answers (nil counts
	// nothing); nil itself counts nothing either.
	usage func() (server.UsageCounter, error)

	mu   sync.Mutex
	gen  int                // advanced by every switch
	stop context.CancelFunc // stops the running server, if any
	done chan struct{}      // closed when it has stopped
}

// next records a switch; a start begun before it gives up.
func (a *apiServer) next() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	return a.gen
}

// start stops the running server, if any, then listens on addr and serves
// there until stopped; it returns the address it is bound to. A start that
// a later switch superseded returns errSuperseded and serves nothing.
// failed is called, from the server's goroutine, if the server ends with an
// error.
func (a *apiServer) start(gen int, addr string, failed func(error)) (string, error) {
	a.shutdown()
	var opts server.Options
	if a.usage != nil {
		r, err := a.usage()
		if err != nil {
			return "", fmt.Errorf("could not read the usage counts: %w", err)
		}
		opts.Usage = r
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("could not listen on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	a.mu.Lock()
	if a.gen != gen {
		a.mu.Unlock()
		cancel()
		ln.Close()
		return "", errSuperseded
	}
	a.stop, a.done = cancel, done
	a.mu.Unlock()
	srv := server.New(a.v, opts)
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			failed(err)
		}
	}()
	return ln.Addr().String(), nil
}

// shutdown stops the running server, if any, and waits for it to finish.
func (a *apiServer) shutdown() {
	a.mu.Lock()
	stop, done := a.stop, a.done
	a.stop, a.done = nil, nil
	a.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// apiSwitch is the option to run the verification API while the window is
// open, with its listen address and state. The settings view lays its
// widgets out.
type apiSwitch struct {
	srv *apiServer
	ui  UI
	// relayout lays the view out again after a message was shown or hidden.
	relayout func()

	serverOn     *widget.Check
	listen       *widget.Entry
	listenMsg    *widget.Label
	serverStatus *widget.Label
}

func newAPISwitch(srv *apiServer, ui UI) *apiSwitch {
	s := &apiSwitch{srv: srv, ui: ui, relayout: func() {}}
	s.serverOn = widget.NewCheck("Run verification API while Keydesk is open", s.toggled)
	s.listen = widget.NewEntry()
	s.listen.SetText(netaddr.DefaultListen)
	s.listenMsg = widgets.NewFieldMessage()
	s.listen.OnChanged = func(string) { widgets.SetMessage(s.listenMsg, "", widget.DangerImportance) }
	s.serverStatus = widget.NewLabel("Stopped.")
	s.serverStatus.Wrapping = fyne.TextWrapWord
	return s
}

// toggled starts or stops the verification API.
func (s *apiSwitch) toggled(on bool) {
	gen := s.srv.next()
	if on {
		s.start(gen)
		return
	}
	s.listen.Enable()
	s.setStatus("Stopping…", widget.MediumImportance)
	srv := s.srv
	s.ui.Run(func() func() {
		srv.shutdown()
		return func() {
			if !s.serverOn.Checked {
				s.setStatus("Stopped.", widget.MediumImportance)
			}
		}
	})
}

func (s *apiSwitch) start(gen int) {
	addr := strings.TrimSpace(s.listen.Text)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		widgets.SetMessage(s.listenMsg, "Enter a host and port such as 127.0.0.1:8765.", widget.DangerImportance)
		s.uncheck()
		s.relayout()
		return
	}
	s.listen.Disable()
	s.setStatus("Starting…", widget.MediumImportance)
	srv := s.srv
	s.ui.Run(func() func() {
		bound, err := srv.start(gen, addr, func(err error) {
			s.ui.Do(func() {
				s.uncheck()
				s.setStatus(msg.Sentence(err.Error()), widget.DangerImportance)
			})
		})
		switch {
		case errors.Is(err, errSuperseded):
			return nil
		case err != nil:
			return func() {
				s.uncheck()
				s.setStatus(msg.Sentence(err.Error()), widget.DangerImportance)
			}
		}
		return func() {
			text := "Listening on http://" + bound + " (POST " + server.PathVerify + ", GET " + server.PathAuth + ")."
			imp := widget.SuccessImportance
			if !netaddr.IsLoopbackHost(host) {
				text += " Warning: this address is reachable from other computers."
				imp = widget.WarningImportance
			}
			s.setStatus(text, imp)
		}
	})
}

// setStatus shows the verification API's state.
func (s *apiSwitch) setStatus(text string, imp widget.Importance) {
	s.serverStatus.Importance = imp
	s.serverStatus.SetText(text)
	s.relayout()
}

// uncheck clears the option without stopping anything.
func (s *apiSwitch) uncheck() {
	s.serverOn.OnChanged = nil
	s.serverOn.SetChecked(false)
	s.serverOn.OnChanged = s.toggled
	s.listen.Enable()
}

// ServiceVerifier is svc as the window's verification API sees it: its
// verification without its last-used flusher, which the window's
// background work runs.
func ServiceVerifier(svc *core.Service) server.KeyChecker { return verifierOnly{svc} }

// verifierOnly hides the service's last-used flusher from the server.
type verifierOnly struct{ svc *core.Service }

func (o verifierOnly) Verify(secret string, t core.Target) core.Verification {
	return o.svc.Verify(secret, t)
}

// VerifyUse is what the server calls for a client's request: a real use,
// recorded as the key's last use.
func (o verifierOnly) VerifyUse(secret string, t core.Target) core.Verification {
	return o.svc.VerifyUse(secret, t)
}

func (o verifierOnly) Catalog() *core.Catalog { return o.svc.Catalog() }
