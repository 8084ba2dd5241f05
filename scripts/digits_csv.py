"""Write the UCI optical-digits images as sequences, one pixel a step: `digit,p1,…,p64`.

    pip install scikit-learn
    python3 scripts/digits_csv.py > digits.csv
    cargo run --release --example classify -- train --data digits.csv --classes

The data (1,797 handwritten digits, 8×8 pixels of 0–16 ink; UCI Machine Learning Repository,
Alpaydin & Kaynak 1998, CC BY 4.0) ships inside scikit-learn: load_digits() reads it from the
installed package, nothing is downloaded. Each image is read row by row, pixel by pixel, as 64
steps of one value scaled to [0, 1]: the "sequential digits" task, a small sibling of the
pixel-by-pixel MNIST benchmark that recurrent networks are measured on.
"""
from sklearn.datasets import load_digits

digits = load_digits()
print("digit,pixels")
for image, label in zip(digits.data, digits.target):
    print(f"{label}," + ",".join(f"{v / 16:g}" for v in image))
