package apptest

import (
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const payloadName protoreflect.FullName = "temporal.api.common.v1.Payload"

// WalkPayloads calls visit with every Payload inside m, however deep (inputs,
// results, failure details, memos, headers, search attributes): what tests of
// payload sizes and of secrets in workflow histories must read.
func WalkPayloads(m protoreflect.Message, visit func(*commonpb.Payload)) {
	if !m.IsValid() {
		return
	}
	if m.Descriptor().FullName() == payloadName {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			visit(p)
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
				for i := 0; i < v.List().Len(); i++ {
					WalkPayloads(v.List().Get(i).Message(), visit)
				}
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					WalkPayloads(mv.Message(), visit)
					return true
				})
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			WalkPayloads(v.Message(), visit)
		}
		return true
	})
}

// PayloadSize is what a payload weighs in a history: its data plus its
// metadata keys and values.
func PayloadSize(p *commonpb.Payload) int {
	size := len(p.GetData())
	for k, v := range p.GetMetadata() {
		size += len(k) + len(v)
	}
	return size
}
