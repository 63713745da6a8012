"""Domain constants shared by every module: defined once, imported everywhere."""

IMAGE_SIZE = 28  # MNIST images are 28x28
DIGIT_BOX = 20  # MNIST fits the longer side of each digit into a 20x20 box
NUM_CLASSES = 10
CLASS_NAMES = tuple(str(d) for d in range(NUM_CLASSES))
NOT_A_DIGIT = "not a digit"  # the label a visitor's correction gives a drawing that is no digit
PIXEL_MAX = 255  # uint8 intensity range of MNIST
SKETCH_CANVAS = 400  # px, the side of the app's Sketchpad
SKETCH_BRUSH = 20  # px on that canvas: after scaling a drawn digit into 20 px, strokes are MNIST-thick
