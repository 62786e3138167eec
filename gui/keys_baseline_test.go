package gui

import (
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
)

// TestCellsShareOneBaseline: in every row, the text of each cell (the
// hint's monospace included) sits on the same baseline, and "never" is
// drawn in the text colour, not the faint one, selected or not.
func TestCellsShareOneBaseline(t *testing.T) {
	f := newKVFixture(t, theme.VariantLight, kvDemo, 1280, 800)
	f.clickRow("Partner portal (read-only)", colName)
	d := fyne.CurrentApp().Driver()
	rows := map[*keyRow]map[column]float32{}
	for _, c := range f.cells() {
		kvWalk(c, func(o fyne.CanvasObject) {
			tx, ok := o.(*canvas.Text)
			if !ok || tx.Text == "" {
				return
			}
			_, b := d.RenderedTextSize(tx.Text, tx.TextSize, tx.TextStyle, tx.FontSource)
			if rows[c.row] == nil {
				rows[c.row] = map[column]float32{}
			}
			if _, seen := rows[c.row][c.col]; !seen {
				rows[c.row][c.col] = d.AbsolutePositionForObject(tx).Y + b
			}
			if tx.Text == "never" && !c.row.key.Expired(kvNow) {
				want := theme.Color(theme.ColorNameForeground)
				if tx.Color != want {
					t.Errorf("%q: never drawn in %v, want the text colour %v", c.row.key.Name, tx.Color, want)
				}
			}
		})
	}
	if len(rows) == 0 {
		t.Fatal("no cell text laid out")
	}
	for r, cols := range rows {
		name, ok := cols[colName]
		if !ok {
			continue
		}
		if _, ok := cols[colKey]; !ok {
			t.Errorf("%q: no hint laid out", r.key.Name)
		}
		for c, y := range cols {
			if math.Abs(float64(y-name)) > 0.5 {
				t.Errorf("%q: column %d's baseline at %.2f, the name's at %.2f", r.key.Name, c, y, name)
			}
		}
	}
}
