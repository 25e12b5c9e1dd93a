package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/cairnlabs/cairn/app/api"
	"github.com/cairnlabs/cairn/memory/portable"
)

// Export and import through the home's owner: the file streams through
// its API, so the vault stays with the process that holds it open.

// streamClient has no overall timeout: an export or import of a large
// vault takes as long as it takes (Ctrl-C cancels it).
var streamClient = &http.Client{}

func (o *ownerClient) request(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := o.base.JoinPath(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+o.token)
	return req, nil
}

func (o *ownerClient) fail(resp *http.Response) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
	if e.Error.Message == "" {
		e.Error.Message = resp.Status
	}
	return fmt.Errorf("the cairn process serving this home (pid %d): %s", o.owner.PID, e.Error.Message)
}

func (o *ownerClient) export(ctx context.Context, w io.Writer, in api.ExportRequest) (portable.ExportSummary, error) {
	var sum portable.ExportSummary
	body, _ := json.Marshal(in)
	req, err := o.request(ctx, "POST", "/api/v1/export", nil, bytes.NewReader(body))
	if err != nil {
		return sum, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := streamClient.Do(req)
	if err != nil {
		return sum, fmt.Errorf("the cairn process serving this home (pid %d) did not answer: %w", o.owner.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sum, o.fail(resp)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return sum, fmt.Errorf("export from the cairn process serving this home: %w", err)
	}
	if msg := resp.Trailer.Get("X-Cairn-Export-Error"); msg != "" {
		return sum, fmt.Errorf("export failed part way: %s", msg)
	}
	n, err := strconv.Atoi(resp.Trailer.Get("X-Cairn-Export-Records"))
	if err != nil {
		return sum, errors.New("the export ended without saying it was complete: try again")
	}
	sum.Records = n
	sum.ByKind = map[string]int{}
	return sum, nil
}

// importRequest is how the CLI asks the owner to import.
type importRequest struct {
	Format     string
	DryRun     bool
	Passphrase string
	Identity   string // path of an age identity file
}

func (o *ownerClient) importFile(ctx context.Context, path string, in importRequest, progress func(portable.Progress)) (portable.Summary, error) {
	var sum portable.Summary
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	q := url.Values{"format": {in.Format}}
	if in.DryRun {
		q.Set("dry_run", "true")
	}
	req, err := o.request(ctx, "POST", "/api/v1/import", q, f)
	if err != nil {
		return sum, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Content-Type", "application/octet-stream")
	if in.Passphrase != "" {
		req.Header.Set("X-Cairn-Bundle-Passphrase", in.Passphrase)
	}
	if in.Identity != "" {
		keys, err := os.ReadFile(in.Identity)
		if err != nil {
			return sum, fmt.Errorf("identity file: %w", err)
		}
		var lines []string
		for _, l := range strings.Split(string(keys), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		req.Header.Set("X-Cairn-Bundle-Identity", strings.Join(lines, ","))
	}
	resp, err := streamClient.Do(req)
	if err != nil {
		return sum, fmt.Errorf("the cairn process serving this home (pid %d) did not answer: %w", o.owner.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sum, o.fail(resp)
	}
	var event string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			event = e
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Progress *portable.Progress `json:"progress"`
			Summary  *portable.Summary  `json:"summary"`
			Error    *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return sum, fmt.Errorf("the import's progress does not decode: %w", err)
		}
		if ev.Summary != nil {
			sum = *ev.Summary
		}
		switch event {
		case "progress":
			if ev.Progress != nil && progress != nil {
				progress(*ev.Progress)
			}
		case "done":
			return sum, nil
		case "error":
			if ev.Error != nil && ev.Error.Code == "nothing_to_import" {
				return sum, fmt.Errorf("%w: %s", portable.ErrNothingToImport, strings.TrimPrefix(ev.Error.Message, portable.ErrNothingToImport.Error()+": "))
			}
			msg := "the import failed"
			if ev.Error != nil {
				msg = ev.Error.Message
			}
			return sum, errors.New(msg)
		}
	}
	if err := sc.Err(); err != nil {
		return sum, err
	}
	return sum, errors.New("the import ended without a result: run it again to resume")
}
