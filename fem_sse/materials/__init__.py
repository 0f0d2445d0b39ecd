"""Material laws and data (NumPy only): the electronic conductivity law and presets (conductivity),
the chemical strain of Li0(SE) (strain).

A light package: importing it imports no submodule."""
