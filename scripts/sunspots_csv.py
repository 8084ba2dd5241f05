"""Write the yearly sunspot numbers, 1700–2008, as a one-column CSV: a real series that forecast
does not generate.

    pip download statsmodels --no-deps -d wheels
    python3 scripts/sunspots_csv.py wheels/statsmodels-*.whl > sunspots.csv
    cargo run --release --example forecast -- train --data sunspots.csv --window 20 \\
      --warmup 20 --horizon 30 --val-fraction 0.25

The series (Wolf's yearly sunspot numbers; public domain, as statsmodels documents it) ships
inside statsmodels' wheel as statsmodels/datasets/sunspots/sunspots.csv: this reads it from the
wheel, a zip file, so neither statsmodels nor its dependencies need installing. The year column
is left out (a trend, not something to forecast).
"""
import csv
import io
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as wheel:
    text = wheel.read("statsmodels/datasets/sunspots/sunspots.csv").decode()
rows = list(csv.DictReader(io.StringIO(text)))
print("sunspots")
for row in rows:
    print(row["SUNACTIVITY"])
