# Two video decoders and an audio task, harmonic periods (qas admission).
#   qas --simulate 10000 admission/examples/video.ts
# Times in milliseconds. Mandatory part = what must always finish (parse,
# base frame); optional parts = enhancement work of which a fraction q
# must finish by the deadline.

task audio  period=10 mandatory=uniform(0.3,0.6) optional=normal(1.5,0.5,0.3,3) quality=0.95
task video1 period=40 mandatory=normal(3,0.9,1,6) optional=hist(decode.hist) quality=0.9
task video2 period=40 mandatory=normal(2,0.6,0.5,4) optional=normal(6,2,1,12) optional=uniform(1,3) quality=0.9,0.8
