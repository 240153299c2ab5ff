// A shared library with no Warden symbols at all.
int notAnExpert(int x) { return x + 1; }
