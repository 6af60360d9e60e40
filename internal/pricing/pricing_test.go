package pricing

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		spec  string
		model string
		want  Price
		known bool
	}{
		{"empty spec is the built-in table", "", "gpt-4o-mini", Price{0.15, 0.60}, true},
		{"built-in gpt-4o", "", "gpt-4o", Price{2.50, 10.00}, true},
		{"built-in gpt-4.1", "", "gpt-4.1", Price{2.00, 8.00}, true},
		{"built-in gpt-4.1-mini", "", "gpt-4.1-mini", Price{0.40, 1.60}, true},
		{"built-in gpt-4.1-nano", "", "gpt-4.1-nano", Price{0.10, 0.40}, true},
		{"unknown model", "", "llama-3", Price{}, false},
		{"new model", "llama-3=0/0", "llama-3", Price{0, 0}, true},
		{"override replaces built-in", "gpt-4o-mini=1/2", "gpt-4o-mini", Price{1, 2}, true},
		{"override keeps the others", "gpt-4o-mini=1/2", "gpt-4o", Price{2.50, 10.00}, true},
		{"spaces and six decimals", " my-model = 0.000001 / .5 , other=3/4", "my-model", Price{0.000001, 0.5}, true},
		{"second entry", "a=1/2,b=3.25/4", "b", Price{3.25, 4}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			got, ok := tab.Price(tt.model)
			if ok != tt.known || got != tt.want {
				t.Fatalf("Price(%q) = %+v, %v; want %+v, %v", tt.model, got, ok, tt.want, tt.known)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		spec, wantErr string
	}{
		{"gpt-4o-mini", `entry "gpt-4o-mini": want model=INPUT/OUTPUT`},
		{"=1/2", `entry "=1/2": want model=INPUT/OUTPUT`},
		{"m=1", `entry "m=1": price "1": want INPUT/OUTPUT`},
		{"m=1/x", `entry "m=1/x": output price: "x" is not a number`},
		{"m=-1/2", `entry "m=-1/2": input price: "-1" is not a number`},
		{"m=1e3/2", `input price: "1e3" is not a number`},
		{"m=NaN/2", `input price: "NaN" is not a number`},
		{"m=/2", `input price: "" is not a number`},
		{"m=./2", `input price: "." is not a number`},
		{"m=0.1234567/2", `input price: "0.1234567" has more than 6 decimals`},
		{"m=100000.01/2", `is above 100000 US dollars`},
		{"m=99999999999999999999/2", `is above 100000 US dollars`},
		{"a=1/2,,b=1/2", "entry 2 is empty"},
		{"a=1/2,", "entry 2 is empty"},
		{"a=1/2,a=3/4", "model a is priced twice"},
		{"my model=1/2", `model name "my model" must not contain spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse(%q) = %v; want an error containing %q", tt.spec, err, tt.wantErr)
			}
		})
	}
}

func TestCost(t *testing.T) {
	tab, err := Parse("half=0.5/0.5,tiny=0.000001/0,big=100000/100000,half-2024-01-01=1/1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		model   string
		in, out int64
		micros  int64
		known   bool
	}{
		// 0.15 × 1000 + 0.60 × 500 = 150 + 300 micro-dollars.
		{"default model", "gpt-4o-mini", 1000, 500, 450, true},
		// 0.15 × 123 + 0.60 × 45 = 18.45 + 27 = 45.45 → 45.
		{"rounds down below half", "gpt-4o-mini", 123, 45, 45, true},
		// 0.15 × 1 + 0.60 × 1 = 0.75 → 1.
		{"rounds up above half", "gpt-4o-mini", 1, 1, 1, true},
		// 0.5 × 1 = 0.5 exactly → 1 (half up, exact in integers).
		{"half rounds up", "half", 1, 0, 1, true},
		{"half of three", "half", 3, 0, 2, true},
		{"sub-micro price", "tiny", 999_999, 0, 1, true},
		{"one million tokens at list price", "gpt-4o", 1_000_000, 1_000_000, 12_500_000, true},
		{"large counts do not overflow", "big", 10_000_000, 10_000_000, 2_000_000_000_000, true},
		{"negative counts are 0", "gpt-4o", -5, -5, 0, true},
		{"unknown model", "nope", 1000, 1000, 0, false},
		// OpenAI reports the snapshot it served for an alias.
		{"dated snapshot of a priced model", "gpt-4o-mini-2024-07-18", 1000, 500, 450, true},
		{"four-digit snapshot", "gpt-4o-0613", 1_000_000, 0, 2_500_000, true},
		{"a snapshot priced on its own keeps its price", "half-2024-01-01", 3, 0, 3, true},
		{"a longer name is not a snapshot", "gpt-4o-mini-fast", 1000, 1000, 0, false},
		{"a snapshot of an unknown model", "nope-2024-07-18", 1000, 1000, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			micros, known := tab.CostMicros(tt.model, tt.in, tt.out)
			if micros != tt.micros || known != tt.known {
				t.Fatalf("CostMicros = %d, %v; want %d, %v", micros, known, tt.micros, tt.known)
			}
			usd, known := tab.Cost(tt.model, tt.in, tt.out)
			if usd != FromMicros(tt.micros) || known != tt.known {
				t.Fatalf("Cost = %v, %v; want %v", usd, known, FromMicros(tt.micros))
			}
		})
	}
}

// TestSumsAreExact adds many rounded call costs the way the task and daily
// totals do and checks the result is the exact micro-dollar sum.
func TestSumsAreExact(t *testing.T) {
	tab := Default()
	var total float64
	var micros int64
	for i := int64(1); i <= 1000; i++ {
		c, _ := tab.Cost("gpt-4o-mini", 100+i, 7*i)
		m, _ := tab.CostMicros("gpt-4o-mini", 100+i, 7*i)
		total = Add(total, c)
		micros += m
	}
	if total != FromMicros(micros) {
		t.Fatalf("sum of rounded costs = %v; want %v", total, FromMicros(micros))
	}
	if Round(0.1+0.2) != 0.3 {
		t.Fatalf("Round(0.1+0.2) = %v", Round(0.1+0.2))
	}
}

func TestModels(t *testing.T) {
	tab, err := Parse("zz=1/1")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tab.Models(), ",")
	if got != "gpt-4.1,gpt-4.1-mini,gpt-4.1-nano,gpt-4o,gpt-4o-mini,zz" {
		t.Fatalf("Models = %s", got)
	}
	var zero Table
	if _, ok := zero.Cost("gpt-4o-mini", 1, 1); ok {
		t.Fatal("the zero Table prices nothing")
	}
}
