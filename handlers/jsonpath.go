package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// fieldProblem is the first field of a JSON body that its type does not
// have, or whose value has the wrong type, named by its path as the client
// wrote it: "amount", "lines[0].qty".
type fieldProblem struct {
	Path string
	// Known lists the fields the object around an unknown field takes;
	// nil when the field is known and its value has the wrong type.
	Known []string
	// Type is the error of the value of the wrong type.
	Type *json.UnmarshalTypeError
}

// findFieldProblem walks a JSON body that encoding/json refused to decode
// into a value of type t, in the body's order, and returns the first field
// t does not have or whose value has the wrong type; nil when there is
// neither (the body is refused for another reason). path is the path of
// raw in the body, "" at the top.
func findFieldProblem(raw []byte, t reflect.Type, path string) *fieldProblem {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type that reads itself, or a leaf: encoding/json's verdict.
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) || (t.Kind() != reflect.Struct && t.Kind() != reflect.Slice) {
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); errors.As(err, &te) {
			return &fieldProblem{Path: path, Type: te}
		}
		return nil
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil
	}
	wrongType := &fieldProblem{Path: path, Type: &json.UnmarshalTypeError{Value: "value", Type: t, Field: path}}
	if t.Kind() == reflect.Slice {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return wrongType
		}
		for i, item := range items {
			if p := findFieldProblem(item, t.Elem(), path+"["+strconv.Itoa(i)+"]"); p != nil {
				return p
			}
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return wrongType
	}
	fields := jsonFields(t)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil
		}
		at := name
		if path != "" {
			at = path + "." + name
		}
		ft, ok := fieldType(fields, name)
		if !ok {
			known := make([]string, 0, len(fields))
			for n := range fields {
				known = append(known, n)
			}
			slices.Sort(known)
			return &fieldProblem{Path: at, Known: known}
		}
		if p := findFieldProblem(val, ft, at); p != nil {
			return p
		}
	}
	return nil
}

// jsonFields lists the JSON names of a struct's fields with their types,
// those of embedded structs without a tag included, as encoding/json
// reads them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for n, ft := range jsonFields(et) {
					if _, own := out[n]; !own {
						out[n] = ft
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// fieldType finds a field by its JSON name as encoding/json does: the
// exact name, else one that differs only in case.
func fieldType(fields map[string]reflect.Type, name string) (reflect.Type, bool) {
	if ft, ok := fields[name]; ok {
		return ft, true
	}
	for n, ft := range fields {
		if strings.EqualFold(n, name) {
			return ft, true
		}
	}
	return nil, false
}
