package api

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/cairnlabs/cairn/agent"
	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/importers"
	"github.com/cairnlabs/cairn/memory/portable"
)

// Portable memory: export streams a bundle or JSONL; import takes an
// upload, with progress as Server-Sent Events.

// maxImportBody bounds an upload (a large ChatGPT export is a few GB).
const maxImportBody = 16 << 30

// Headers that carry a bundle's secrets, so they stay out of URLs and logs.
const (
	headerBundlePassphrase = "X-Cairn-Bundle-Passphrase"
	headerBundleIdentity   = "X-Cairn-Bundle-Identity"
	trailerExportRecords   = "X-Cairn-Export-Records"
	trailerExportError     = "X-Cairn-Export-Error"
)

func (s *Server) routesData() []route {
	return []route{
		{pattern: "POST /api/v1/export", scope: ScopeAdmin, maxBody: smallBody, serve: s.exportData,
			summary: "Export the vault (admin): format bundle (encrypted to passphrase or to age recipients), jsonl, or markdown (a zip of the folder), filtered by kinds, tags, since, until; the file is the response body, and the trailer " + trailerExportRecords + " (or " + trailerExportError + ") says whether it is complete", fields: "format, passphrase, recipients, kinds, tags, since, until"},
		{pattern: "POST /api/v1/import", scope: ScopeAdmin, maxBody: maxImportBody, stream: true, serve: s.importData,
			summary: "Import the request body (admin): a bundle (passphrase in " + headerBundlePassphrase + " or age keys in " + headerBundleIdentity + "), Cairn JSONL, or a ChatGPT, Claude or Open WebUI export; ?format= to name it, ?dry_run=true to write nothing, ?extract=true (and model=) to then start an extraction job over your imported messages (its job is the summary's extraction; see /api/v1/extractions); Accept: text/event-stream for progress, done and error events, else the summary as JSON"},
	}
}

// ExportRequest is the body of POST /api/v1/export.
type ExportRequest struct {
	Format     string   `json:"format"`
	Passphrase string   `json:"passphrase,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
	Kinds      []string `json:"kinds,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Since      string   `json:"since,omitempty"`
	Until      string   `json:"until,omitempty"`
}

func (s *Server) exportData(w http.ResponseWriter, r *http.Request) error {
	var in ExportRequest
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Format == "" {
		in.Format = portable.FormatBundle
	}
	f := portable.Filter{Tags: in.Tags}
	for _, k := range in.Kinds {
		f.Kinds = append(f.Kinds, memory.Kind(k))
	}
	for _, t := range []struct {
		in  string
		out *time.Time
	}{{in.Since, &f.Since}, {in.Until, &f.Until}} {
		if t.in == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.in)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid", "since and until are RFC 3339 times: "+err.Error())
		}
		*t.out = v
	}
	var rs []age.Recipient
	var name, ctype string
	switch in.Format {
	case portable.FormatBundle:
		var err error
		switch {
		case len(in.Recipients) > 0:
			rs, err = portable.KeyRecipients(strings.Join(in.Recipients, "\n"))
		case len(in.Passphrase) >= memory.MinPassphraseLen:
			var rec age.Recipient
			rec, err = portable.PassphraseRecipient(in.Passphrase, 0)
			rs = []age.Recipient{rec}
		default:
			err = fmt.Errorf("a bundle needs recipients (age public keys) or a passphrase of at least %d characters", memory.MinPassphraseLen)
		}
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid", err.Error())
		}
		name, ctype = "cairn-"+time.Now().Format("2006-01-02")+".cairn", "application/octet-stream"
	case portable.FormatJSONL:
		name, ctype = "cairn-"+time.Now().Format("2006-01-02")+".jsonl", "application/x-ndjson"
	case portable.FormatMarkdown:
		return s.exportMarkdown(w, r, f)
	default:
		return errorf(http.StatusBadRequest, "invalid", "format must be bundle, jsonl or markdown")
	}
	if s.cfg.Vault.Locked() {
		return memory.ErrLocked
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a large vault takes its time
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", trailerExportRecords+", "+trailerExportError)
	w.WriteHeader(http.StatusOK)
	sum, err := portable.ExportStream(r.Context(), s.cfg.Vault, w, in.Format, f, rs...)
	if err != nil {
		s.log.Warn("export failed part way", "err", err)
		w.Header().Set(trailerExportError, strings.ReplaceAll(err.Error(), "\n", " "))
		return nil
	}
	w.Header().Set(trailerExportRecords, strconv.Itoa(sum.Records))
	return nil
}

// importEvent is the data of an import's progress, done and error events.
type importEvent struct {
	Progress *portable.Progress `json:"progress,omitempty"`
	Summary  *portable.Summary  `json:"summary,omitempty"`
	Format   string             `json:"format,omitempty"`
	Error    *apiError          `json:"error,omitempty"`
	// Extraction is the job ?extract=true started, or ExtractionError
	// why it did not (the import itself is done either way).
	Extraction      *agent.ExtractionJob `json:"extraction,omitempty"`
	ExtractionError string               `json:"extraction_error,omitempty"`
}

func (s *Server) importData(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dryRun := q.Get("dry_run") == "true" || q.Get("dry_run") == "1"
	opts := importers.Options{Format: q.Get("format")}
	if pass := r.Header.Get(headerBundlePassphrase); pass != "" {
		id, err := portable.PassphraseIdentity(pass)
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid", err.Error())
		}
		opts.Identities = append(opts.Identities, id)
	}
	if keys := r.Header.Get(headerBundleIdentity); keys != "" {
		ids, err := portable.KeyIdentities(strings.NewReader(strings.ReplaceAll(keys, ",", "\n")))
		if err != nil {
			return errorf(http.StatusBadRequest, "invalid", err.Error())
		}
		opts.Identities = append(opts.Identities, ids...)
	}
	if s.cfg.Vault.Locked() {
		return memory.ErrLocked
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	// Spool the upload: a zip is read by offset, and a bundle twice.
	dir := s.cfg.ImportDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "upload-*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "too_large", "the upload is over the import limit of "+itoa(mbe.Limit)+" bytes")
		}
		return errorf(http.StatusBadRequest, "upload_failed", "the upload did not arrive whole: "+err.Error())
	}
	stream := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	send := func(event string, e importEvent) {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			s.log.Debug("flush import progress", "err", err)
		}
	}
	fo := importers.FileOptions{Options: opts, Import: portable.Options{DryRun: dryRun}, JournalDir: dir}
	extract := (q.Get("extract") == "true" || q.Get("extract") == "1") && !dryRun
	var mine importers.PersonsMessages
	if extract {
		if _, err := s.needExtractions(); err != nil {
			return err
		}
		fo.Observe = mine.Observe
	}
	if stream {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		fo.Import.Progress = func(p portable.Progress) { send("progress", importEvent{Progress: &p}) }
	}
	sum, format, err := importers.ImportFile(r.Context(), s.cfg.Vault, tmp.Name(), fo)
	if !dryRun {
		s.embedPastMessages() // what was imported, for vector recall
	}
	done := importEvent{Summary: &sum, Format: format}
	if err == nil && extract && len(mine.IDs) > 0 {
		if job, _, xerr := s.extractions.Start(r.Context(), mine.IDs, q.Get("model")); xerr != nil {
			done.ExtractionError = "extraction did not start: " + classify(xerr).Message
		} else {
			done.Extraction = &job
		}
	}
	if !stream {
		if err != nil {
			return dataError(err)
		}
		writeJSON(w, http.StatusOK, done)
		return nil
	}
	if err != nil {
		var ae *apiError
		errors.As(dataError(err), &ae)
		send("error", importEvent{Error: ae, Summary: &sum, Format: format})
		return nil
	}
	send("done", done)
	return nil
}

// dataError maps import errors to the status that says what went wrong.
func dataError(err error) error {
	switch {
	case errors.Is(err, portable.ErrBundleKey):
		return errorf(http.StatusForbidden, "wrong_bundle_key", err.Error()+": nothing was imported")
	case errors.Is(err, portable.ErrBundleDamaged):
		return errorf(http.StatusUnprocessableEntity, "bundle_damaged", err.Error()+"; nothing was imported")
	case errors.Is(err, portable.ErrNotBundle):
		return errorf(http.StatusUnprocessableEntity, "not_a_bundle", err.Error()+"; nothing was imported")
	case errors.Is(err, portable.ErrNothingToImport):
		return errorf(http.StatusUnprocessableEntity, "nothing_to_import", err.Error())
	case errors.Is(err, portable.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, importers.ErrUnknownFormat):
		return errorf(http.StatusUnsupportedMediaType, "unknown_format", err.Error())
	}
	if ae := classify(err); ae.Status != http.StatusInternalServerError {
		return ae
	}
	// The rest are what the file held or lacked (malformed JSON, a zip
	// without conversations): the person's to fix, not the server's.
	return errorf(http.StatusUnprocessableEntity, "import_failed", err.Error())
}

// exportMarkdown writes the Markdown folder to a temporary place in the
// home and sends it as a zip.
func (s *Server) exportMarkdown(w http.ResponseWriter, r *http.Request, f portable.Filter) error {
	dir := s.cfg.ImportDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "markdown-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := portable.ExportMarkdown(r.Context(), s.cfg.Vault, f, tmp); err != nil {
		return err
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="cairn-`+time.Now().Format("2006-01-02")+`-markdown.zip"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", trailerExportRecords+", "+trailerExportError)
	w.WriteHeader(http.StatusOK)
	zw := zip.NewWriter(w)
	err = zw.AddFS(os.DirFS(tmp))
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		w.Header().Set(trailerExportError, err.Error())
		return nil
	}
	w.Header().Set(trailerExportRecords, "0")
	return nil
}
