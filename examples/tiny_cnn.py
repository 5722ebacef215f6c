"""TinyCNN: the bundled example model (see examples/README.md).

conv-bn-relu twice with a residual add, global average pooling and a linear classifier: the
patterns quantgraph folds (conv+bn), fuses (conv+relu, add) and quantizes (conv, linear).
tools/fixtures/gen_example.py scripts it and writes examples/tiny_cnn.safetensors.
"""
import torch
import torch.nn as nn


class ConvBnRelu(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class TinyCNN(nn.Module):
    def __init__(self, channels: int = 8, classes: int = 10):
        super().__init__()
        self.block1 = ConvBnRelu(3, channels)
        self.block2 = ConvBnRelu(channels, channels)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, classes)

    def forward(self, x):
        y = self.block1(x)
        y = y + self.block2(y)  # residual add
        y = self.pool(y)
        y = torch.flatten(y, 1)
        return self.fc(y)
