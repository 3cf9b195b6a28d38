import sys
def test_p():
    print([p for p in sys.path if 'work' in p or 'smoke' in p])
