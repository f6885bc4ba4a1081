package admit

import "io"

// ReadImportStream reads a JSON import file as the streamed import does,
// every order to the end, without a store: for the fuzz tests.
func ReadImportStream(r io.Reader) error {
	src, err := newJSONSource(r)
	if err != nil {
		return err
	}
	return drain(src)
}

// ReadImportCSV reads a CSV import for the event of header h as the CSV
// import does, every order to the end, without a store.
func ReadImportCSV(r io.Reader, h *ImportFile) error {
	src, err := newCSVSource(r, h, nil, nil)
	if err != nil {
		return err
	}
	return drain(src)
}

func drain(src ImportSource) error {
	for {
		if _, err := src.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}
