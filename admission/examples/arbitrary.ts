# Arbitrary (non-harmonic) periods: qas chooses QRMS.
task a period=7  mandatory=uniform(0.3,0.6) optional=normal(1.5,0.5,0.5,3) quality=0.9
task b period=12 mandatory=uniform(0.5,1)   optional=normal(2,0.7,0.5,4)   quality=0.8
task c period=30 mandatory=const(2)         optional=uniform(1,4)          quality=0.9
